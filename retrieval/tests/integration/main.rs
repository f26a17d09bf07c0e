//! Integration tests of the `retrieval` crate: permission filtering across both indexes.

mod leak;
