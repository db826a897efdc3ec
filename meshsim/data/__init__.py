"""meshsim.data"""
