"""Dashboard pages, one file each (loaded by app/ui/main.py through st.navigation, never imported)."""
