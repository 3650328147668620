//! Prints the CRDs (what `clusterlink crd` prints).
fn main() {
    print!("{}", clusterlink_model::crds_yaml());
}
