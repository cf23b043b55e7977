//! Native refresh for Debian's `update-ca-certificates`: anchorage performs the hook's effect
//! itself (`NAME.pem` links, OpenSSL hash links, `ca-certificates.crt`, the `update.d` hooks),
//! with exactly the script's result.

pub mod hash;
