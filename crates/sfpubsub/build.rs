//! Generates the Pub/Sub client from our own `proto/pubsub_api.proto` without a `protoc` binary:
//! protox (a Rust protobuf compiler) builds the descriptor set, tonic-prost-build writes the code.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/pubsub_api.proto";
    println!("cargo:rerun-if-changed={proto}");
    let fds = protox::compile([proto], ["proto"])?;
    tonic_prost_build::configure()
        .build_server(false)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
