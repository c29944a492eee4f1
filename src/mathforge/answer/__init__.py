"""mathforge.answer"""
