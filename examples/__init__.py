"""Small apps that the command line, the README and the notebooks use as examples."""
