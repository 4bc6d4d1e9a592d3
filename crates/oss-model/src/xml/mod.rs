//! Bounded XML reading and compact XML writing shared by every body type.

pub mod read;
pub mod write;
