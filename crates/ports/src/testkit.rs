// testkit: written with the first store adapter
