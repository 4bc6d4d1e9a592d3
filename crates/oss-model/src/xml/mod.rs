//! Bounded XML reading and compact XML writing shared by every body type.

pub(crate) mod read;
pub(crate) mod write;
