// Sets the first Neo4j password from standard input, so that it never appears on a command line (`ps`).
// Run by deploy/neo4j_server.py as: java -cp 'lib/*' SetInitialPassword.java < password
// (Java 11+ runs a single source file without a separate compile step.)
public class SetInitialPassword {
    public static void main(String[] args) throws Exception {
        java.io.BufferedReader in = new java.io.BufferedReader(
            new java.io.InputStreamReader(System.in, java.nio.charset.StandardCharsets.UTF_8));
        String password = in.readLine();
        if (password == null || password.isEmpty()) {
            System.err.println("no password on standard input");
            System.exit(2);
        }
        org.neo4j.cli.AdminTool.main(new String[] {"dbms", "set-initial-password", password});
    }
}
