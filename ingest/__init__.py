"""Readers that turn outside inputs (listings, released datasets, abstracts) into kb records."""
