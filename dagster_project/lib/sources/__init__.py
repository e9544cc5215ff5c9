"""Readers for detection sources that are files: AWS CLI exports, Sigma and Elastic rule repositories."""
