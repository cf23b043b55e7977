//! Trust stores anchorage manages. `system` is the distribution's store (files + hook +
//! effective bundle). Each store reads its *effective* state so planning can judge by effect.

pub mod bundle;
pub mod nss;
pub mod system;
