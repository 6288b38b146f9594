//! Integration tests of the mailers against real servers.

mod smtp;
