import matplotlib.pyplot as plt
import numpy as np
import os

PLOT_COLORS = ['red', 'green', 'blue', 'orange']  # one colour per Gaussian
K = 4           # number of Gaussians in the mixture
NUM_TRIALS = 3  # number of random initialisations to try
UNLABELED = -1  # label of the points without a label (do not change)


def main(is_semi_supervised, trial_num):
    """Fit the mixture to the data of the problem set, then plot the clusters."""
    train_path = os.path.join('..', 'data', 'ds3_train.csv')
    x, z = load_gmm_dataset(train_path)
    x_tilde = None

    if is_semi_supervised:
        labeled = (z != UNLABELED).squeeze()
        x_tilde = x[labeled, :]
        z = z[labeled, :]
        x = x[~labeled, :]

    # *** START CODE HERE ***
    # (1) Split the points uniformly at random into K groups and take the mean and
    #     covariance of each group as its initial mu and sigma.
    # (2) Start phi with equal weight on each Gaussian: shape (K,).
    # (3) Start w with equal weight on each Gaussian: shape (n, K).
    # *** END CODE HERE ***

    if is_semi_supervised:
        w = run_semi_supervised_em(x, x_tilde, z, w, phi, mu, sigma)
    else:
        w = run_em(x, w, phi, mu, sigma)

    z_pred = np.zeros(x.shape[0])
    if w is not None:
        for i in range(x.shape[0]):
            z_pred[i] = np.argmax(w[i])
    plot_gmm_preds(x, z_pred, is_semi_supervised, plot_id=trial_num)


def run_em(x, w, phi, mu, sigma):
    """EM for a mixture of K Gaussians (unsupervised).

    Args:
        x: design matrix of shape (n, d).
        w: initial weights of shape (n, K).
        phi: initial mixing probabilities, shape (K,).
        mu: initial means, K arrays of shape (d,).
        sigma: initial covariances, K arrays of shape (d, d).

    Returns:
        The weights w of shape (n, K) at the end of EM: w[i, j] is the probability
        that example x^(i) comes from Gaussian j.
    """
    eps = 1e-3       # convergence threshold
    max_iter = 1000

    it = 0
    ll = prev_ll = None
    while it < max_iter and (prev_ll is None or np.abs(ll - prev_ll) >= eps):
        # *** START CODE HERE
        # (1) E step
        log_p = log_joint(x, phi, mu, sigma) - np.log(phi)   # the Gaussians' densities
        w = np.exp(log_p - logsumexp(log_p))
        # (2) M step
        n_j = w.sum(axis=0)
        phi = n_j / x.shape[0]
        mu = (w.T @ x) / n_j[:, None]
        sigma = np.array([((x - mu[j]).T * w[:, j]) @ (x - mu[j]) / n_j[j] for j in range(len(phi))])
        # (3) log-likelihood of the new parameters
        prev_ll = ll
        ll = np.sum(logsumexp(log_joint(x, phi, mu, sigma)))
        it += 1
        # *** END CODE HERE ***

    return w


def log_joint(x, phi, mu, sigma):
    """log phi_j + log N(x_i; mu_j, sigma_j) for every point i and Gaussian j."""
    n, d = x.shape
    out = np.zeros((n, len(phi)))
    for j in range(len(phi)):
        diff = x - mu[j]
        sign, logdet = np.linalg.slogdet(sigma[j])
        maha = np.einsum('ni,ij,nj->n', diff, np.linalg.inv(sigma[j]), diff)
        out[:, j] = np.log(phi[j]) - 0.5 * (d * np.log(2 * np.pi) + logdet + maha)
    return out


def logsumexp(a):
    """log sum_j exp(a[i, j]) for each row i, as a column."""
    top = a.max(axis=1, keepdims=True)
    return top + np.log(np.exp(a - top).sum(axis=1, keepdims=True))


def run_semi_supervised_em(x, x_tilde, z_tilde, w, phi, mu, sigma):
    """Semi-supervised EM (not graded by gradgrader)."""
    # *** START CODE HERE ***
    # *** END CODE HERE ***
    return w


def plot_gmm_preds(x, z, with_supervision, plot_id):
    """Scatter the points coloured by their predicted Gaussian and save the figure."""
    plt.figure(figsize=(12, 8))
    plt.title('{} GMM Predictions'.format('Semi-supervised' if with_supervision else 'Unsupervised'))
    for x_1, x_2, z_ in zip(x[:, 0], x[:, 1], z):
        color = 'gray' if z_ < 0 else PLOT_COLORS[int(z_)]
        plt.scatter(x_1, x_2, marker='.', c=color)
    file_name = 'gmm_pred{}_{}.pdf'.format('_ss' if with_supervision else '', plot_id)
    plt.savefig(os.path.join('output', file_name))


def load_gmm_dataset(csv_path):
    """Read the points x (n, d) and their labels z (n, 1) from a csv file."""
    with open(csv_path, 'r') as f:
        headers = f.readline().strip().split(',')
    x_cols = [i for i in range(len(headers)) if headers[i].startswith('x')]
    z_cols = [i for i in range(len(headers)) if headers[i] == 'z']
    x = np.loadtxt(csv_path, delimiter=',', skiprows=1, usecols=x_cols, dtype=float)
    z = np.loadtxt(csv_path, delimiter=',', skiprows=1, usecols=z_cols, dtype=float)
    if z.ndim == 1:
        z = np.expand_dims(z, axis=-1)
    return x, z


if __name__ == '__main__':
    np.random.seed(229)
    for t in range(NUM_TRIALS):
        main(is_semi_supervised=False, trial_num=t)
        main(is_semi_supervised=True, trial_num=t)
