print("optimize")
