#!/usr/bin/env bash
# Makes the cluster's certificates and kubeconfigs with openssl, offline, into $1: one CA for
# everything (the API server, the kubelet's serving certificate, every client) but the front
# proxy of API aggregation, which has its own, and the service account signing key. Client identities are what RBAC and the Node authorizer expect.
# Usage: pki.sh DIR NODE_NAME NODE_IP SERVICE_IP
set -euo pipefail
dir=$1 node=$2 node_ip=$3 service_ip=$4
mkdir -p "$dir" && cd "$dir"

key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" 2>/dev/null; }

key ca
openssl req -x509 -new -key ca.key -subj "/CN=mirrord-cluster-ca" -days 3650 -sha256 \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  -out ca.crt 2>/dev/null

# cert NAME CN ORG USAGE [SANS]   (signed by the CA named in $CA, the cluster's by default)
cert() {
  local name=$1 cn=$2 org=$3 usage=$4 sans=${5:-} ca=${CA:-ca}
  key "$name"
  local subj="/CN=$cn"; [ -n "$org" ] && subj+="/O=$org"
  openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [ -n "$sans" ] && echo "subjectAltName=$sans"
  } >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial -days 365 -sha256 \
    -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

cert apiserver kube-apiserver "" serverAuth \
  "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:$service_ip,IP:$node_ip,IP:127.0.0.1"
cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters clientAuth
cert kubelet "system:node:$node" "" serverAuth "DNS:$node,IP:$node_ip"
cert kubelet-client "system:node:$node" system:nodes clientAuth
cert admin mirrord-admin system:masters clientAuth
cert controller-manager system:kube-controller-manager "" clientAuth
cert scheduler system:kube-scheduler "" clientAuth
cert kube-proxy system:kube-proxy "" clientAuth

# API aggregation: the API server forwards a request for an aggregated API (the operator's) with
# the user in X-Remote-* headers, presenting the front-proxy client certificate; the aggregated
# server trusts those headers only from that certificate. Its CA is apart from the cluster's, so
# that no client certificate the cluster CA signs can pass for the front proxy.
key front-proxy-ca
openssl req -x509 -new -key front-proxy-ca.key -subj "/CN=mirrord-front-proxy-ca" -days 3650 -sha256 \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  -out front-proxy-ca.crt 2>/dev/null
CA=front-proxy-ca cert front-proxy-client front-proxy-client "" clientAuth

key sa
openssl ec -in sa.key -pubout -out sa.pub 2>/dev/null

# kubeconfig NAME CERT
kubeconfig() {
  cat >"$1.kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: mirrord
  cluster:
    server: https://$node_ip:6443
    certificate-authority-data: $(base64 -w0 ca.crt)
users:
- name: $1
  user:
    client-certificate-data: $(base64 -w0 "$2.crt")
    client-key-data: $(base64 -w0 "$2.key")
contexts:
- name: mirrord
  context: {cluster: mirrord, user: $1}
current-context: mirrord
YAML
}
kubeconfig admin admin
kubeconfig controller-manager controller-manager
kubeconfig scheduler scheduler
kubeconfig kubelet kubelet-client
kubeconfig kube-proxy kube-proxy
chmod 600 ./*.key ./*.kubeconfig
