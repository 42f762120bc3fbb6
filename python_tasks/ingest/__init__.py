"""Extract and load: core-banking tables and channel file drops into the ``raw`` schema."""
