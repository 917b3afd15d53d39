"""Deployment on the master: Docker engine operations, image builds, compose, quickstart."""
