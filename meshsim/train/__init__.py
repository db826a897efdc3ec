"""meshsim.train"""
