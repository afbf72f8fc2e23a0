//! `votegraph bench`: a real cluster of validator processes on loopback, driven by signed
//! transactions at a fixed rate, measured from submission to finality.

pub mod cluster;
pub mod load;
pub mod machine;
pub mod report;
