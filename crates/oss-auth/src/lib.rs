//! oss-auth (being written).
