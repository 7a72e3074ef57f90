"""One module of native wire facts per upstream provider, named for it."""
