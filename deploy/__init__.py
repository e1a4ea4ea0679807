"""Deployment files shipped as package data (``kgweave.deploy``): ``prefect.yaml`` and the Neo4j Browser files."""
