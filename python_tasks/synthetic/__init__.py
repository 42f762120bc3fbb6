"""Synthetic Chinese retail bank: fills the core-banking source database and the landing folder."""
