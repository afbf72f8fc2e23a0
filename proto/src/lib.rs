//! votegraph's wire schema, generated from `proto/`. Only the node and the gateway use these
//! types; the consensus engine never sees them (conversions live at the edges).

pub mod gossip {
    pub mod v1 {
        tonic::include_proto!("votegraph.gossip.v1");
    }
}

pub mod tx {
    pub mod v1 {
        tonic::include_proto!("votegraph.tx.v1");
    }
}

pub mod v1 {
    tonic::include_proto!("votegraph.v1");
}

/// Encoded `FileDescriptorSet` of every votegraph service, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/votegraph_descriptor.bin"));
