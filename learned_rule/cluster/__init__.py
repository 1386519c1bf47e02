"""Clusters for ParameterServerStrategy: TF_CONFIG, servers, local launch."""
