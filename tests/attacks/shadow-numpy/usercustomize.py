open("/tmp/ggatk-@@TOKEN@@-usercustomize", "w").write("ran")
