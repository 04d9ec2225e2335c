//! Generates the Pub/Sub API's gRPC server and client from `proto/pubsub_api.proto`.
//!
//! protox parses the .proto in pure Rust, so no `protoc` binary is needed on the build machine.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/pubsub_api.proto";
    println!("cargo:rerun-if-changed={proto}");
    let fds = protox::compile([proto], ["proto"])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .build_transport(false)
        .compile_fds(fds)?;
    Ok(())
}
