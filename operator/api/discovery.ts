/**
 * The discovery documents of the operator's group, which the API server's aggregator and kubectl
 * read to learn what the group serves (`kubectl api-resources`, `kubectl create -f` of a Ticket).
 */
import { OPERATOR_API_VERSION, OPERATOR_GROUP, OPERATOR_VERSION, SESSIONS_RESOURCE, TICKETS_RESOURCE } from '../../protocol/operator-api';

const groupVersion = { groupVersion: OPERATOR_API_VERSION, version: OPERATOR_VERSION };

export const API_GROUP = {
  kind: 'APIGroup',
  apiVersion: 'v1',
  name: OPERATOR_GROUP,
  versions: [groupVersion],
  preferredVersion: groupVersion,
};

export const API_GROUP_LIST = { kind: 'APIGroupList', apiVersion: 'v1', groups: [API_GROUP] };

export const API_RESOURCE_LIST = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: OPERATOR_API_VERSION,
  resources: [
    { name: TICKETS_RESOURCE, singularName: 'ticket', namespaced: true, kind: 'Ticket', verbs: ['create'], categories: ['mirrord'] },
    {
      name: SESSIONS_RESOURCE,
      singularName: 'mirrordsession',
      namespaced: true,
      kind: 'MirrordSession',
      verbs: ['get', 'list', 'delete'],
      shortNames: ['msess'],
      categories: ['mirrord'],
    },
  ],
};
