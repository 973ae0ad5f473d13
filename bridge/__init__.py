"""threadbridge core: the messenger- and provider-independent parts."""
