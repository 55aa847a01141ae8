"""One module per command group; each only parses arguments and calls into its layer."""
