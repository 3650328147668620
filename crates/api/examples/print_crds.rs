//! Prints the CRDs (what `clusterlink crd` prints).
fn main() {
    print!("{}", clusterlink_api::crds_yaml());
}
