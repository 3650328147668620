//! Pieces shared by the three resources: references to other objects, status conditions, the
//! REST client configuration of `KafkaRestClass` and `KafkaTopic`, and the string rules (name
//! patterns) that both the CRD schema and [`crate::validation`] check.
//!
//! Every optional field is an `Option`, and every list or map an `Option` of it, so that a manifest
//! serialises back to exactly what was read: `configs: {}` stays `configs: {}` and an absent field
//! stays absent. Defaults that CFK documents are applied by accessor methods, not by serde.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Pattern of Kafka topic names and link names, as CFK's schema writes it.
pub const TOPIC_NAME_PATTERN: &str = r"^[a-zA-Z0-9\._\-]*$";
/// Pattern of Kubernetes secret names referenced by CFK (`secretRef`): a DNS-1123 label.
pub const SECRET_REF_PATTERN: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// Pattern of a Kafka bootstrap endpoint, as CFK's schema writes it (unanchored).
pub const BOOTSTRAP_PATTERN: &str = ".+:[0-9]+";
/// Pattern of a REST endpoint URL, as CFK's schema writes it.
pub const REST_ENDPOINT_PATTERN: &str = "^https?://.*";

/// A reference to a `KafkaRestClass` (`kafkaRestClassRef`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaRestClassRef {
    /// Name of the KafkaRestClass.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Namespace of the KafkaRestClass; the referring resource's namespace when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A reference to a CFK-managed `Kafka` cluster resource (`kafkaClusterRef`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaClusterRef {
    /// Name of the Kafka cluster resource.
    pub name: String,
    /// Namespace of the Kafka cluster resource; the referring resource's namespace when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A reference to a secret by name only (`{secretRef: name}` objects where the name is required).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequiredSecretRef {
    /// Name of a secret in the resource's namespace.
    #[schemars(
        length(min = 1, max = 30),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub secret_ref: String,
}

/// A credential given either as a secret or as a directory mounted in the container.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretOrDirectory {
    /// Directory in the container holding the credential files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub directory_path_in_container: Option<String>,
    /// Name of a secret in the resource's namespace holding the credential files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 30),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub secret_ref: Option<String>,
}

/// Lifecycle summary CFK keeps in `status.appState`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[non_exhaustive]
pub enum AppState {
    /// Not yet known (CFK's default).
    #[default]
    Unknown,
    /// Created on the cluster.
    Created,
    /// Creation or reconciliation failed.
    Failed,
    /// Deleted from the cluster.
    Deleted,
}

/// One observation in `status.conditions`, shaped like CFK's (not like `metav1.Condition`: every
/// field is optional and there is a `lastProbeTime`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// When the condition was last evaluated (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub last_probe_time: Option<String>,
    /// When the condition last changed status (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub last_transition_time: Option<String>,
    /// Human-readable details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Machine-readable reason of the last transition, in CamelCase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `True`, `False` or `Unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The condition's type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
}

/// OAuth client settings (`oauthSettings` of a ClusterLink cluster, `configuration` of a REST
/// class's OAuth authentication).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuthSettings {
    /// Audience of the token request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub audience: Option<String>,
    /// Client assertion (JWT bearer) settings instead of a client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_assertion: Option<ClientAssertion>,
    /// Expected `iss` claim of tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub expected_issuer: Option<String>,
    /// Claim holding the groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub groups_claim_name: Option<String>,
    /// JWKS endpoint of the identity provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub jwks_endpoint_uri: Option<String>,
    /// Connect timeout of the login request, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_connect_timeout_ms: Option<i32>,
    /// Read timeout of the login request, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_read_timeout_ms: Option<i32>,
    /// Maximum login retry backoff, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_retry_backoff_max_ms: Option<i32>,
    /// Initial login retry backoff, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_retry_backoff_ms: Option<i32>,
    /// Scope of the token request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub scope: Option<String>,
    /// Claim holding the subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub sub_claim_name: Option<String>,
    /// Token endpoint of the identity provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub token_endpoint_uri: Option<String>,
}

/// OAuth client assertion settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientAssertion {
    /// OAuth client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub client_id: Option<String>,
    /// A ready-made JWT assertion file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_token_file: Option<SecretOrDirectory>,
    /// Settings to build and sign the assertion locally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_client_assertion: Option<LocalClientAssertion>,
}

/// Settings to build a client assertion locally.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalClientAssertion {
    /// `aud` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub audience: Option<String>,
    /// Whether to include a `jti` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_jti_claim: Option<bool>,
    /// Whether to include an `nbf` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_nbf_claim: Option<bool>,
    /// `iss` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub issuer: Option<String>,
    /// The private key that signs the assertion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_file: Option<PrivateKeyFile>,
    /// `sub` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub subject: Option<String>,
    /// Lifetime of the assertion, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_lifetime: Option<i32>,
}

/// The private key of a local client assertion.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrivateKeyFile {
    /// Directory in the container holding the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub directory_path_in_container: Option<String>,
    /// Whether the key is encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_private_key: Option<bool>,
    /// Whether an assertion template file is present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_assertion_template: Option<bool>,
    /// Secret holding the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 30),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub secret_ref: Option<String>,
}

/// How a client reaches a Confluent Admin REST API (`kafkaRest` of KafkaRestClass and KafkaTopic).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaRestApi {
    /// How to authenticate to the REST API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<RestAuthentication>,
    /// Base URL of the REST API, e.g. `http://kafka.operator.svc.cluster.local:8090`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1), regex(pattern = r"^https?://.*"))]
    pub endpoint: Option<String>,
    /// Kafka cluster id; when set, it is used instead of asking the REST API.
    #[serde(
        rename = "kafkaClusterID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(length(min = 1))]
    pub kafka_cluster_id: Option<String>,
    /// TLS settings of the REST client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<RestTls>,
}

/// REST API authentication types.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum RestAuthType {
    /// HTTP basic (`basic.txt`: `username=…`, `password=…`).
    Basic,
    /// Bearer token.
    Bearer,
    /// TLS client certificate.
    Mtls,
    /// OAuth client credentials.
    Oauth,
}

/// REST API authentication.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestAuthentication {
    /// Basic authentication settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<BasicAuthentication>,
    /// Bearer authentication settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer: Option<SecretOrDirectory>,
    /// OAuth authentication settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<RestOAuth>,
    /// Whether the client presents its TLS certificate too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_client_authentication: Option<bool>,
    /// The authentication type.
    #[serde(rename = "type")]
    pub type_: RestAuthType,
}

/// Basic authentication of a REST client.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BasicAuthentication {
    /// Debug logs of the JAAS configuration (server side only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug: Option<bool>,
    /// Directory in the container holding `basic.txt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub directory_path_in_container: Option<String>,
    /// Whether to ignore roles (server side only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_roles: Option<bool>,
    /// Restricted roles (server side only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub restricted_roles: Option<Vec<String>>,
    /// Roles (server side only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Secret holding `basic.txt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 30),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub secret_ref: Option<String>,
}

/// OAuth authentication of a REST client.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestOAuth {
    /// OAuth settings.
    pub configuration: OAuthSettings,
    /// Directory in the container holding `oauth.txt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub directory_path_in_container: Option<String>,
    /// Secret holding `oauth.txt` (`clientId=…`, `clientSecret=…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 30),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub secret_ref: Option<String>,
}

/// TLS settings of a REST client.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestTls {
    /// Directory in the container holding `keystore.jks`, `truststore.jks`, `jksPassword.txt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub directory_path_in_container: Option<String>,
    /// Secret holding the JKS password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jks_password: Option<RequiredSecretRef>,
    /// Secret holding the certificates (`fullchain.pem`, `privkey.pem`, `cacerts.pem`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub secret_ref: Option<String>,
}
