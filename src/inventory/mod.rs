//! Security-group and network-interface inventory (placeholder, being written).
