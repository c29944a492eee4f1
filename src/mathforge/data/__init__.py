"""mathforge.data"""
