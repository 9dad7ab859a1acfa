//! Integration tests for the inventory layer.
