"""Sample (demo) data for development databases; never loaded in production."""
