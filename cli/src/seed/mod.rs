//! `neonhub-db seed`: placeholder, being written.
