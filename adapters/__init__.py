"""Messenger adapters: each turns a platform into posts for the core and surfaces for replies."""
