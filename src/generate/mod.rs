//! Generator of realistic flow logs and inventory (placeholder, being written).
