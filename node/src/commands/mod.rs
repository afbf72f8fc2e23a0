pub mod backup;
pub mod consensus;
