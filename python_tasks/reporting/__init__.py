"""What a run did, in a few lines a person reads."""
