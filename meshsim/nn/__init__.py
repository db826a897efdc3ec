"""meshsim.nn"""
