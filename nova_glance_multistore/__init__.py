"""Store-aware snapshot, backup and shelve uploads for nova-compute."""
