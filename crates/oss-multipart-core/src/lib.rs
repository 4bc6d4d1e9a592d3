//! oss-multipart-core (being written).
