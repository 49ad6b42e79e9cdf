"""Pure ML for EASTERN: media decoding, features, models, training and evaluation.

Arrays and files in, arrays and files out; nothing here imports app/, db/, streamlit or sqlalchemy.
"""
