# Would run at interpreter start-up if this folder were on the grader's sys.path.
open("/tmp/ggatk-@@TOKEN@@-sitecustomize", "w").write("ran")
