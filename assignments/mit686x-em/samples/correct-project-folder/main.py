import numpy as np
import naive_em
import common

X = np.loadtxt("toy_data.txt")

for K in [1, 2, 3, 4]:
    for seed in range(5):
        rng = np.random.default_rng(seed)
        mu = X[rng.choice(X.shape[0], K, replace=False)]
        mixture = common.GaussianMixture(mu, np.ones(K), np.full(K, 1 / K))
        mixture, post, ll = naive_em.run(X, mixture, None)
        print(K, seed, ll)
