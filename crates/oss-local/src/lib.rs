//! oss-local (being written).
