//! oss-model (being written).
